#!/usr/bin/env node
/** Composition root of `npm start`: see serve.ts. */
import { runServerProcess } from './serve.js';

void runServerProcess();
