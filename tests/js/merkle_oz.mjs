// Interop peer for tests/crypto/test_merkle_interop.py: OpenZeppelin's StandardMerkleTree.
// Reads one JSON request on stdin, writes one JSON answer on stdout.
//   {"op": "build", "values": [...], "encoding": [...]} -> {"root", "dump", "proofs"}
//   {"op": "load", "dump": {...}} -> {"root", "proofs"}   (load() validates the whole tree)
//   {"op": "verify", "root", "encoding", "checks": [{"value", "proof"}]} -> {"results": [bool]}
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));

function proofs(tree) {
  return Array.from({ length: tree.length }, (_, i) => tree.getProof(i));
}

let answer;
if (request.op === "build") {
  const tree = StandardMerkleTree.of(request.values, request.encoding);
  answer = { root: tree.root, dump: tree.dump(), proofs: proofs(tree) };
} else if (request.op === "load") {
  const tree = StandardMerkleTree.load(request.dump);
  answer = { root: tree.root, proofs: proofs(tree) };
} else if (request.op === "verify") {
  answer = {
    results: request.checks.map((c) =>
      StandardMerkleTree.verify(request.root, request.encoding, c.value, c.proof),
    ),
  };
} else {
  throw new Error(`unknown op ${request.op}`);
}
process.stdout.write(JSON.stringify(answer));
