"""Development harness shared by the tests and the benchmarks (never imported by the product packages):
`camera` (a loopback test camera: ffmpeg serving a clip over HTTP on 127.0.0.1), `videos` (generated
videos), `tiny_models` (tiny real ONNX models built with PyTorch) and `server` (the real server in a
subprocess and an HTTP client for it). Needs the development requirements (requirements-dev.txt)."""
