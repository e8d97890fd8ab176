import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDetailsDto } from './problem-details.dto';

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input (`validation_failed`, `invalid_json`)',
  401: 'Not authenticated; carries `WWW-Authenticate: Bearer`',
  404: 'Not found (`not_found`)',
  409: 'Conflict',
  413: 'Body larger than 16 KiB (`payload_too_large`)',
  415: 'Body is not JSON (`unsupported_media_type`)',
  429: 'Too many requests (`rate_limited`)',
  503: 'The database or the rate-limit store cannot serve now (`service_unavailable`, with `Retry-After`)',
};

/**
 * Documents error statuses of an operation with the problem+json body. Every such operation reads
 * the database, so 503 is always listed (the operation may describe its own).
 */
export function ApiProblemResponses(statuses: Record<number, string | undefined>) {
  return applyDecorators(
    ApiExtraModels(ProblemDetailsDto),
    ...Object.entries({ 503: undefined, ...statuses }).map(([status, description]) =>
      ApiResponse({
        status: Number(status),
        description: description ?? STATUS_TEXT[Number(status)] ?? 'Error',
        content: {
          'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetailsDto) } },
        },
      }),
    ),
  );
}
