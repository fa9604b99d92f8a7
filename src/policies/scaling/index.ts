/** Scaling policies: configuration, Little's-law sizing, the agentpool decision and the HPA baseline. */
export * from './config.js';
export * from './decide.js';
export * from './hpa.js';
export * from './little.js';
