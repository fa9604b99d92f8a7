#!/usr/bin/env node
/**
 * The `agentpool` executable: runs the CLI defined in ./program.ts and exits with its code.
 */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
