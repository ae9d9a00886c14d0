#!/usr/bin/env node
// Prints a LOCAL_ACCOUNTS password hash: pbkdf2-sha256:<rounds>:<salt>:<hash> (base64url),
// 100000 rounds of PBKDF2-HMAC-SHA256 with a random 16-byte salt, the most workerd allows.
//   echo -n 'the password' | node scripts/hash-password.mjs
import { pbkdf2Sync, randomBytes } from 'node:crypto';

const ROUNDS = 100_000;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
if (!password) {
  console.error('usage: echo -n PASSWORD | node scripts/hash-password.mjs');
  process.exit(2);
}
const salt = randomBytes(16);
const hash = pbkdf2Sync(password, salt, ROUNDS, 32, 'sha256');
console.log(`pbkdf2-sha256:${ROUNDS}:${salt.toString('base64url')}:${hash.toString('base64url')}`);
