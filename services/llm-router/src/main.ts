import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { LlmRouterService } from './complete/llm-router.service';
import { LlmRouterConfig } from './llm-router.config';
import { LlmRouterModule } from './llm-router.module';

runService({
  service: 'llm-router',
  configClass: LlmRouterConfig,
  module: LlmRouterModule,
  healthChecks: (app) => () => app.get(LlmRouterService).health(),
});
