// How an external signer answers a datafair task with ethers v6 (docs/signing.md).
// Reads one JSON request on stdin:
//   {"privateKey": "0x..", "chainId": 31337, "taskId": "0x..", "itemCid": "bafk..",
//    "taskType": "boxes", "classes": ["car", "person"], "answer": ..., "nonce": 1,
//    "durationMs": 2000}
// and prints {"canonicalJson", "answerHash", "contributor", "typedData", "signature"}.
import { Wallet, keccak256, toUtf8Bytes } from "ethers";

// Python's round(x, 2): round half to even on the double's exact value.
function round2(x) {
  const scaled = x * 100;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  let r;
  if (diff > 0.5) r = floor + 1;
  else if (diff < 0.5) r = floor;
  else r = floor % 2 === 0 ? floor : floor + 1;
  return r / 100;
}

function byKeys(keys) {
  return (a, b) => {
    for (const key of keys) {
      if (a[key] < b[key]) return -1;
      if (a[key] > b[key]) return 1;
    }
    return 0;
  };
}

// The canonical answer of each task type (src/datafair/core/schemas.py).
function canonicalAnswer(taskType, classes, answer) {
  switch (taskType) {
    case "classification":
    case "preference":
      return answer;
    case "multilabel":
      return classes.filter((name) => answer.includes(name));
    case "spans":
      return answer
        .map(({ start, end, label }) => ({ start, end, label }))
        .sort(byKeys(["start", "end"]));
    case "boxes":
      return answer
        .map(({ x, y, w, h, label }) => ({
          x: round2(x),
          y: round2(y),
          w: round2(w),
          h: round2(h),
          label,
        }))
        .sort(byKeys(["y", "x", "w", "h", "label"]));
    case "transcription":
      return answer.normalize("NFC").trim();
    default:
      throw new Error(`unknown task type ${taskType}`);
  }
}

// Canonical JSON: keys sorted by UTF-16 code unit, no whitespace; integral numbers print
// without a fraction, as JSON.stringify already does.
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error("non-finite number");
  return JSON.stringify(value);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const wallet = new Wallet(request.privateKey);
const canonical = canonicalJson(
  canonicalAnswer(request.taskType, request.classes ?? [], request.answer),
);
const answerHash = keccak256(toUtf8Bytes(canonical));
const domain = { name: "datafair", version: "1", chainId: request.chainId };
const types = {
  Submission: [
    { name: "taskId", type: "bytes32" },
    { name: "itemCid", type: "string" },
    { name: "answerHash", type: "bytes32" },
    { name: "contributor", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "durationMs", type: "uint32" },
  ],
};
const message = {
  taskId: request.taskId,
  itemCid: request.itemCid,
  answerHash,
  contributor: wallet.address,
  nonce: request.nonce,
  durationMs: request.durationMs,
};
const signature = await wallet.signTypedData(domain, types, message);
process.stdout.write(
  JSON.stringify({
    canonicalJson: canonical,
    answerHash,
    contributor: wallet.address,
    typedData: { domain, types, primaryType: "Submission", message },
    signature,
  }),
);
