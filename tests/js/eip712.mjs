// Interop peer for datafair's EIP-712 submissions, using ethers v6.
// Reads one JSON request on stdin and prints one JSON answer on stdout:
//   {"op": "sign", "privateKey": "0x..", "domain": {..}, "types": {..}, "message": {..}}
//     -> {"signature": "0x.."}
//   {"op": "verify", "domain": {..}, "types": {..}, "message": {..}, "signature": "0x.."}
//     -> {"signer": "0x.."}
import { Wallet, verifyTypedData } from "ethers";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const types = { ...request.types };
delete types.EIP712Domain; // ethers derives the domain type from the domain object
if (request.op === "sign") {
  const wallet = new Wallet(request.privateKey);
  const signature = await wallet.signTypedData(request.domain, types, request.message);
  process.stdout.write(JSON.stringify({ signature }));
} else if (request.op === "verify") {
  const signer = verifyTypedData(request.domain, types, request.message, request.signature);
  process.stdout.write(JSON.stringify({ signer }));
} else {
  throw new Error(`unknown op ${request.op}`);
}
