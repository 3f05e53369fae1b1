export * from './infra';
export * from './standins/php-json';
export * from './standins/llm-script';
export * from './standins/talk.standin';
export * from './standins/passwords.standin';
export * from './standins/ollama.standin';
export * from './standins/cloud-llm.standin';
export * from './tls/test-ca';
