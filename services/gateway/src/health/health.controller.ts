import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_CONNECTION, SERVICE_NAMES } from '@palisade/nats';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';

interface ServiceHealth {
  status: 'ok' | 'degraded' | 'down';
  detail?: string;
  checks?: Record<string, { ok: boolean; detail?: string }>;
}

/** `/healthz`: the gateway's own state plus every service's answer on `health.<service>`. */
// Public: process supervisors and the stack script probe it without credentials.
@Public()
@Controller()
export class HealthController {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  @Get('healthz')
  async healthz(@Res() res: Response): Promise<void> {
    const services: Record<string, ServiceHealth> = {};
    await Promise.all(
      SERVICE_NAMES.filter((name) => name !== 'gateway').map(async (name) => {
        try {
          const reply = await this.nc.request(`health.${name}`, '', { timeout: 2_000 });
          const body = reply.json<{ ok: boolean; data: ServiceHealth }>();
          services[name] = body.data;
        } catch (error) {
          services[name] = {
            status: 'down',
            detail: `no answer on health.${name}: ${(error as Error).message}`,
          };
        }
      }),
    );
    services.gateway = { status: this.nc.isClosed() ? 'down' : 'ok' };
    const healthy = Object.values(services).every((s) => s.status === 'ok');
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'degraded', services });
  }
}
