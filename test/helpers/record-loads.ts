/**
 * `node --import <this file>`: every ES module the process loads (the bundle's chunks included) is
 * appended to the file named by RECORD_LOADS_TO, one URL per line. The hooks run on Node's loader
 * thread, which shares the environment.
 */
import { register } from 'node:module';

register(new URL('./record-loads-hooks.js', import.meta.url));
