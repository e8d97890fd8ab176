import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { NOT_COMMON_PASSWORD } from './common-passwords';
import { AppException, FieldError } from '../errors/app.exception';

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own: FieldError[] = error.constraints
      ? [
          {
            field,
            rules: Object.keys(error.constraints),
            messages: Object.values(error.constraints),
          },
        ]
      : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function describe(errors: FieldError[]): string {
  return errors.map((error) => error.messages.join('; ')).join('; ');
}

/**
 * The global validation pipe: bodies must be JSON objects, unknown fields are rejected, values are
 * never echoed back (they may be passwords), and failures become `validation_failed` problems that
 * name each field and rule.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors: ValidationError[]) => {
        const fieldErrors = flatten(errors);
        const onlyCommonPassword = fieldErrors.every((error) =>
          error.rules.every((rule) => rule === NOT_COMMON_PASSWORD),
        );
        return new AppException(
          onlyCommonPassword ? 'weak_password' : 'validation_failed',
          describe(fieldErrors),
          {
            errors: fieldErrors,
          },
        );
      },
    });
  }

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && this.toValidate(metadata)) {
      if (value === undefined || value === null || value === '') {
        value = {};
      } else if (typeof value !== 'object' || Array.isArray(value)) {
        throw new AppException('validation_failed', 'The request body must be a JSON object', {
          errors: [{ field: '', rules: ['isObject'], messages: ['body must be a JSON object'] }],
        });
      }
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}
