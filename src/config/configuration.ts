/** Every configuration namespace, each loaded from the environment by its own file. */
export * from './app.config';
export * from './auth.config';
export * from './database.config';
export * from './http.config';
export * from './observability.config';
export * from './rate-limit.config';
export * from './redis.config';
export * from './mail.config';
