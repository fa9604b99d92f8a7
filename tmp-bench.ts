import { runScalingCommand } from './bench/scaling.js';
await runScalingCommand(['--no-write']);
