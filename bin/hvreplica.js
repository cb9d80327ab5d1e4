#!/usr/bin/env node
// Entry point of the `hvreplica` command; the CLI itself is compiled from src/cli/main.ts.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main();
