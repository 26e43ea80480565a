// tap's `before` script (package.json "tap".before): the test certificates,
// once per run, for every test process (see certs.ts).
import { writeRunFile } from './certs.js'

writeRunFile()
