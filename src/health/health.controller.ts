import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { Public } from '../auth/decorators/public.decorator';
import { AppException } from '../common/errors/app.exception';
import { UNAVAILABLE_RETRY_AFTER } from '../common/errors/retry-after';
import { ApiProblemResponses } from '../common/openapi/api-problem-responses.decorator';
import { RedisHealthIndicator } from './redis.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /**
   * What an empty terminus check answers, built once: liveness checks nothing but that the process
   * serves, and probes call it often.
   */
  private static readonly LIVE: HealthCheckResult = Object.freeze({
    status: 'ok',
    info: {},
    error: {},
    details: {},
  });

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process is up and serving' })
  live(): HealthCheckResult {
    return HealthController.LIVE;
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: the database answers, and Redis when configured' })
  @ApiOkResponse({ description: 'Ready' })
  @ApiProblemResponses({ 503: 'A dependency is down (`service_unavailable`)' })
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.database.pingCheck('database', { timeout: 1000 }),
        ...(this.redis.configured ? [() => this.redis.pingCheck('redis', 1000)] : []),
      ]);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        // Name what is down (never how it is reached) so that an operator knows where to look.
        const down = Object.keys((error.getResponse() as HealthCheckResult).error ?? {});
        throw new AppException('service_unavailable', `Not ready: ${down.join(', ')} down`, {
          headers: { 'Retry-After': UNAVAILABLE_RETRY_AFTER },
        });
      }
      throw error;
    }
  }
}
