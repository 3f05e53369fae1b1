import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { LlmRouterConfig } from './llm-router.config';
import { LlmRouterModule } from './llm-router.module';

runService({ service: 'llm-router', configClass: LlmRouterConfig, module: LlmRouterModule });
