/** Scaling simulation: scenarios, traces, the simulator and its HTML report. */
export * from './report-html.js';
export * from './scenarios.js';
export * from './simulate.js';
export * from './system-sim.js';
export * from './trace.js';
