// Node.js dgram (libuv) UDP client for the socksify integration tests (node's own modules only).
//
// usage: node udp_node.js udp4|udp6 HOST PORT [BUDGET_SECONDS]
//
// Against udpecho.py at HOST:PORT (a literal address of the socket's family), one after the other:
//   1. an unconnected socket: send("WHOAMI", PORT, HOST), the 'message' event's answer and rinfo;
//      then send(TEXT, PORT, HOST) and the echo;
//   2. a new socket, socket.connect(PORT, HOST): remoteAddress(), send(TEXT) without an address,
//      the echo and its rinfo, then send("WHOAMI") without an address.
// Output lines (stdout):
//   SEEN <step> <addr> <port>        what udpecho.py saw (WHOAMI): the proxy's address toward HOST
//   ECHO <step> <text>               an echo; <step> is "unconnected" or "connected"
//   FROM <step> <addr> <port>        rinfo of that answer
//   PEER <addr> <port>               remoteAddress() after connect()
//   ERROR <step> <code> <message>    an 'error' event or a throw
//   DONE WALL <seconds>
//   TIMEOUT <step> after <seconds>
// Exit status: 0 ok; 3 an error; 4 a wrong answer; 6 the budget ran out.
'use strict';
const dgram = require('dgram');

const [kind, host, portArg, budgetArg] = process.argv.slice(2);
const port = Number(portArg);
const budget = Number(budgetArg || 10) * 1000;
const start = process.hrtime.bigint();
const elapsed = () => (Number(process.hrtime.bigint() - start) / 1e9).toFixed(3);
let step = 'start';
let bad = false;

function finish(status, line) {
  process.stdout.write(line + '\n', () => process.exit(status));
}

const timer = setTimeout(() => finish(6, `TIMEOUT ${step} after ${elapsed()}`), budget);
timer.unref();

function say(line) {
  process.stdout.write(line + '\n');
}

function check(cond, what) {
  if (!cond) {
    bad = true;
    say(`BAD ${step} ${what}`);
  }
}

// The next 'message' of sock, as a promise of [msg, rinfo].
function nextMessage(sock) {
  return new Promise((resolve, reject) => {
    const onMsg = (msg, rinfo) => { sock.removeListener('error', onErr); resolve([msg, rinfo]); };
    const onErr = (err) => { sock.removeListener('message', onMsg); reject(err); };
    sock.once('message', onMsg);
    sock.once('error', onErr);
  });
}

function send(sock, text, ...dest) {
  return new Promise((resolve, reject) => {
    sock.send(Buffer.from(text), ...dest, (err) => (err ? reject(err) : resolve()));
  });
}

async function roundTrip(sock, text, ...dest) {
  const answer = nextMessage(sock);
  await send(sock, text, ...dest);
  return answer;
}

function checkFrom(rinfo) {
  say(`FROM ${step} ${rinfo.address} ${rinfo.port}`);
  check(rinfo.address === host && rinfo.port === port, `rinfo ${rinfo.address} ${rinfo.port}, expected ${host} ${port}`);
}

function checkWhoami(msg) {
  const text = msg.toString();
  check(text.startsWith('YOU ARE '), `WHOAMI answered ${JSON.stringify(text)}`);
  say(`SEEN ${step} ${text.slice('YOU ARE '.length)}`);
}

async function main() {
  // 1. unconnected: send with an address, 'message' events.
  step = 'unconnected';
  const a = dgram.createSocket(kind);
  let [msg, rinfo] = await roundTrip(a, 'WHOAMI', port, host);
  checkFrom(rinfo);
  checkWhoami(msg);
  const text1 = `node ${kind} unconnected`;
  [msg, rinfo] = await roundTrip(a, text1, port, host);
  say(`ECHO ${step} ${msg}`);
  check(msg.toString() === text1, 'wrong echo');
  checkFrom(rinfo);
  await new Promise((resolve) => a.close(resolve));

  // 2. connected: connect(), send without an address, remoteAddress().
  step = 'connected';
  const b = dgram.createSocket(kind);
  await new Promise((resolve, reject) => {
    b.once('error', reject);
    b.connect(port, host, () => { b.removeListener('error', reject); resolve(); });
  });
  const peer = b.remoteAddress();
  say(`PEER ${peer.address} ${peer.port}`);
  check(peer.address === host && peer.port === port, 'remoteAddress() is not the target');
  const text2 = `node ${kind} connected`;
  [msg, rinfo] = await roundTrip(b, text2);
  say(`ECHO ${step} ${msg}`);
  check(msg.toString() === text2, 'wrong echo');
  checkFrom(rinfo);
  [msg, rinfo] = await roundTrip(b, 'WHOAMI');
  checkWhoami(msg);
  await new Promise((resolve) => b.close(resolve));
  finish(bad ? 4 : 0, `DONE WALL ${elapsed()}`);
}

main().catch((err) => finish(3, `ERROR ${step} ${err.code || 'none'} ${err.message}`));
