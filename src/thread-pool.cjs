// Preloaded with `node --require=./dist/thread-pool.cjs` (start:prod, the Docker image, the
// bench): one libuv pool thread per password-hashing slot, unless UV_THREADPOOL_SIZE is set.
//
// argon2 runs on libuv's thread pool, which has 4 threads by default, and the hasher allows one
// hash at a time per CPU (src/shared/password-hasher.ts). With more CPUs than 4, hashes beyond
// the fourth waited in libuv however many slots there were. With fewer, consecutive hashes were
// handed to whichever of the 4 threads had slept longest: on 2 CPUs, 2 threads instead of 4 made
// each verification about 10 % cheaper (README "Performance"). libuv reads the variable once,
// when the pool starts, and an ES module entry starts it while it loads, so the bundle cannot set
// it itself: this CommonJS preload runs first.
const { availableParallelism } = require('node:os');

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(availableParallelism());
