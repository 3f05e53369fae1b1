// One start-up path for every service: validated config, its own NATS identity, the RPC transport,
// health, graceful shutdown. Services differ only in their module and their config class.
import { DynamicModule, Global, INestApplicationContext, LoggerService, Module, Type, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { rename, writeFile } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { BaseServiceConfig, ConfigError, describeConfig, loadConfig, readSecretFile } from '@palisade/config';
import { JsonLogger, registerSecret, startTelemetry, traceparentOf, tracedHandle, tracedRequest } from '@palisade/telemetry';
import { installTraceHooks } from './trace.hooks';
import { RpcPassThroughFilter } from './rpc-passthrough.filter';
import { connectNats } from './nats.connection';
import { drainWithin, HealthReport, PalisadeNatsTransport } from './nats.transport';
import { NatsRpcClient } from './rpc.client';
import { ServiceName } from './permissions.manifest';

export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const SERVICE_NAME = Symbol('SERVICE_NAME');

type HealthChecks = () => Promise<Record<string, { ok: boolean; detail?: string }>>;

export interface HttpListen {
  port: number;
  host: string;
  httpsOptions?: { key: string | Buffer; cert: string | Buffer };
  /** false: no global body parser (the service reads raw bodies itself, e.g. to verify a signature first). */
  bodyParser?: boolean;
}

export interface ServiceBootstrapOptions<C extends BaseServiceConfig> {
  service: ServiceName;
  configClass: new () => C;
  module: Type<unknown>;
  /** For services with an HTTP face (gateway, channels). */
  http?: (config: C) => HttpListen;
  /** Extra health checks, resolved from the application context once it exists. */
  healthChecks?: (app: INestApplicationContext) => HealthChecks;
  logger?: LoggerService;
}

@Global()
@Module({})
class CoreModule {
  static forRoot(service: string, config: BaseServiceConfig, nc: NatsConnection): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: SERVICE_NAME, useValue: service },
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: NATS_CONNECTION, useValue: nc },
        { provide: NatsRpcClient, useValue: new NatsRpcClient(nc, config.PALISADE_RPC_TIMEOUT_MS) },
      ],
      exports: [SERVICE_NAME, SERVICE_CONFIG, NATS_CONNECTION, NatsRpcClient],
    };
  }
}

export interface RunningService {
  app: INestApplicationContext;
  nc: NatsConnection;
  health: () => Promise<HealthReport>;
  close: () => Promise<void>;
}

export async function bootstrapService<C extends BaseServiceConfig>(
  options: ServiceBootstrapOptions<C>,
): Promise<RunningService> {
  const logger = options.logger ?? new JsonLogger({ service: options.service });
  let config: C;
  let seed: string;
  try {
    config = loadConfig(options.configClass);
    seed = readSecretFile(config.PALISADE_NATS_SEED_FILE, 'PALISADE_NATS_SEED_FILE');
  } catch (error) {
    if (error instanceof ConfigError) {
      // Fail fast, naming every bad variable; nothing else starts.
      logger.error(`${options.service} cannot start: ${error.message}`);
      process.exitCode = 78; // EX_CONFIG
      throw error;
    }
    throw error;
  }
  // Known secret values are masked in every log line from here on.
  registerSecret(seed);
  logger.log({ message: 'configuration loaded', config: describeConfig(config) });
  // W3C trace context travels in NATS headers, so one trace spans every service a request touches.
  const telemetry = startTelemetry({ serviceName: `palisade-${options.service}`, otlpEndpoint: config.PALISADE_OTLP_ENDPOINT });
  installTraceHooks({
    clientSpan: (name, headers, fn) => tracedRequest(name, headers, () => fn()),
    serverSpan: (name, headers, fn) => tracedHandle(name, headers, () => fn()),
    currentTraceparent: () => traceparentOf(),
  });

  const nc = await connectNats({
    user: options.service,
    url: config.PALISADE_NATS_URL,
    seed,
    caFile: config.PALISADE_NATS_CA_FILE,
    onError: (error) => logger.error(`NATS: ${error.message}`),
  });

  @Module({ imports: [CoreModule.forRoot(options.service, config, nc), options.module] })
  class RootModule {}

  // Assigned once the application exists; the transport's health handler reads it lazily.
  // eslint-disable-next-line prefer-const
  let checks: HealthChecks | undefined;
  const transport = new PalisadeNatsTransport({
    service: options.service,
    connection: async () => nc,
    healthChecks: () => (checks ? checks() : Promise.resolve({})),
  });
  const pipe = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });

  let app: INestApplicationContext;
  if (options.http) {
    const listen = options.http(config);
    const http = await NestFactory.create(RootModule, { logger, httpsOptions: listen.httpsOptions, rawBody: true, bodyParser: listen.bodyParser ?? true });
    http.useGlobalPipes(pipe);
    const micro = http.connectMicroservice({ strategy: transport });
    micro.useGlobalPipes(pipe);
    micro.useGlobalFilters(new RpcPassThroughFilter());
    http.enableShutdownHooks();
    await http.startAllMicroservices();
    await http.listen(listen.port, listen.host);
    logger.log(`${options.service} listening on ${listen.httpsOptions ? 'https' : 'http'}://${listen.host}:${listen.port}`);
    app = http;
  } else {
    const micro = await NestFactory.createMicroservice(RootModule, { strategy: transport, logger });
    micro.useGlobalPipes(pipe);
    micro.useGlobalFilters(new RpcPassThroughFilter());
    micro.enableShutdownHooks();
    await micro.listen();
    app = micro;
  }
  checks = options.healthChecks?.(app);
  const healthFile = startHealthFile(() => transport.health());
  logger.log(`${options.service} ready`);

  return {
    app,
    nc,
    health: () => transport.health(),
    close: async () => {
      if (healthFile) clearInterval(healthFile);
      await app.close();
      if (!nc.isClosed()) await drainWithin(nc, 5_000);
      await telemetry.shutdown();
    },
  };
}

/**
 * For container health checks (infra/docker/healthcheck.js): when PALISADE_HEALTH_FILE is set, the
 * service's own health report is written there every 5 s (atomically: temp file + rename). The file
 * holds only status and check results, no configuration and no secret.
 */
function startHealthFile(health: () => Promise<HealthReport>): NodeJS.Timeout | undefined {
  const file = process.env.PALISADE_HEALTH_FILE;
  if (!file) return undefined;
  const write = async (): Promise<void> => {
    try {
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(await health()), { mode: 0o600 });
      await rename(tmp, file);
    } catch {
      // A stale file makes the health check fail, which is the right signal.
    }
  };
  void write();
  const timer = setInterval(() => void write(), 5_000);
  timer.unref();
  return timer;
}

/** Entry point helper: start, and on failure exit non-zero with the reason already logged. */
export function runService<C extends BaseServiceConfig>(options: ServiceBootstrapOptions<C>): void {
  bootstrapService(options).catch((error: unknown) => {
    if (!(error instanceof ConfigError)) console.error(`${options.service} failed to start: ${(error as Error)?.message ?? error}`);
    process.exit(process.exitCode || 1);
  });
}
