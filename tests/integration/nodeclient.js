// A Node.js (libuv, epoll) client for the socksify integration tests (no modules beyond node's own).
//
// usage: node nodeclient.js HOST ECHO_PORT NCONN HTTP_URL NHTTP TOKEN [BUDGET_SECONDS]
//
// At once: NCONN net.connect()s to the echo server HOST:ECHO_PORT (each sends its own payload and
// checks that exactly that comes back) and NHTTP http.get(HTTP_URL)s (each body must be TOKEN).
// Output lines (stdout):
//   DONE <nconn> <nhttp> WALL <seconds>   everything checked; WALL from the first connect to the last reply
//   ERRNO <CODE> <what>                   a connection failed (e.g. ERRNO ECONNREFUSED echo 3)
//   BAD <what>                            a wrong echo or body
//   TIMEOUT <k> of <n> done after <seconds>
// Exit status: 0 ok; 3 a connection failed; 4 wrong data; 6 the budget ran out.
// The budget is checked between the calls too: if connect() blocks (socksify handshaking inside
// it), the client gives up instead of making every connection one after the other.
'use strict';
const net = require('net');
const http = require('http');
const crypto = require('crypto');

const [host, echoPort, nconn, url, nhttp, token, budgetArg] = process.argv.slice(2);
const total = Number(nconn) + Number(nhttp);
const budget = Number(budgetArg || 10) * 1000;
const start = process.hrtime.bigint();
const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
let done = 0;
let finished = false;

function finish(status, line) {
  if (finished) return;
  finished = true;
  process.stdout.write(line + '\n', () => process.exit(status));
}

function oneDone() {
  done += 1;
  if (done === total) finish(0, `DONE ${nconn} ${nhttp} WALL ${elapsed().toFixed(3)}`);
}

const timer = setTimeout(() => finish(6, `TIMEOUT ${done} of ${total} done after ${elapsed().toFixed(3)}`), budget);
timer.unref();

function echo(i) {
  const payload = Buffer.from(`conn ${i} pid ${process.pid} ${crypto.randomBytes(6).toString('hex')}\n`);
  let got = Buffer.alloc(0);
  const s = net.connect({ host, port: Number(echoPort) }, () => s.write(payload));
  s.on('data', (d) => {
    got = Buffer.concat([got, d]);
    if (got.length >= payload.length) {
      if (!got.equals(payload)) return finish(4, `BAD echo ${i}: ${JSON.stringify(got.toString())}`);
      s.destroy();
      oneDone();
    }
  });
  s.on('error', (e) => finish(3, `ERRNO ${e.code} echo ${i} (${e.message})`));
  s.on('close', () => {
    if (!finished && got.length < payload.length) finish(4, `BAD echo ${i}: closed after ${got.length} bytes`);
  });
}

function get(i) {
  const req = http.get(url, { agent: false }, (res) => {
    let body = '';
    res.setEncoding('latin1');
    res.on('data', (d) => { body += d; });
    res.on('end', () => {
      if (res.statusCode !== 200 || body !== token) {
        return finish(4, `BAD http ${i}: status ${res.statusCode} body ${JSON.stringify(body.slice(0, 200))}`);
      }
      oneDone();
    });
  });
  req.on('error', (e) => finish(3, `ERRNO ${e.code} http ${i} (${e.message})`));
}

// One connection per setImmediate: they all start within a few turns of the loop (with nothing
// to wait for, each turn polls I/O without blocking), and the budget is checked between them.
function startConn(i) {
  if (finished || i >= total) return;
  if (elapsed() * 1000 > budget) {
    finish(6, `TIMEOUT ${done} of ${total} done after ${elapsed().toFixed(3)} (${i} connections started)`);
    return;
  }
  if (i < Number(nconn)) echo(i); else get(i - Number(nconn));
  setImmediate(startConn, i + 1);
}
startConn(0);
