import { timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, Logger, Res } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/decorators/public.decorator';
import { AppException } from '../common/errors/app.exception';
import { appConfig, observabilityConfig } from '../config/configuration';
import { MetricsService } from './metrics.service';
import { UNAVAILABLE_RETRY_AFTER } from '../common/errors/retry-after';

/**
 * Prometheus metrics of this instance (in cluster mode: of all its workers, summed). Scrape every
 * instance; with METRICS_TOKEN set the scraper sends it as a bearer token. Not part of the public
 * API, so not in the OpenAPI document.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  private readonly token?: Buffer;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(observabilityConfig.KEY)
    private readonly config: ConfigType<typeof observabilityConfig>,
    @Inject(appConfig.KEY) app: ConfigType<typeof appConfig>,
  ) {
    this.token = config.metricsToken ? Buffer.from(`Bearer ${config.metricsToken}`) : undefined;
    if (config.metricsEnabled && !this.token && app.production) {
      new Logger('Metrics').warn(
        '/metrics is open to anyone who reaches it: set METRICS_TOKEN or block it at the proxy',
      );
    }
  }

  @Get()
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.config.metricsEnabled) {
      throw new AppException('not_found', 'No resource exists at this path');
    }
    if (this.token) {
      const given = Buffer.from(authorization ?? '');
      if (given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
        throw new AppException(
          authorization ? 'invalid_token' : 'token_missing',
          'Send the metrics token as a bearer token',
        );
      }
    }
    const body = await this.metrics.scrape().catch(() => {
      // Cluster mode: the primary did not gather the workers' metrics in time.
      throw new AppException('service_unavailable', 'Metrics are not available right now', {
        headers: { 'Retry-After': UNAVAILABLE_RETRY_AFTER },
      });
    });
    await reply.header('Content-Type', this.metrics.registry.contentType).send(body);
  }
}
