/**
 * Storage faults through the whole origin with an http(s):// source: a loopback storage server
 * that misbehaves per key (see test/helpers/fault-suite.ts for what each case checks).
 */
import { defineFaultSuite } from './helpers/fault-suite.js';

defineFaultSuite('http');
