"""The stand-in engine, for tests: a tiny OpenAI-compatible server on loopback.

Two front ends run the same server (`server`): `python -m sglang.launch_server` (see
`sglang.launch_server`) and `vllm serve MODEL` or `python -m vllm serve MODEL` (see
`vllm.entrypoints.cli.main`; the `vllm` command is `bin/vllm`). Each records its argv and
every request it receives into a JSON-lines log, and its behaviour is set by environment
variables, so that tests can drive each path of the code that starts and uses it.

Start-up and shut-down:

  STANDIN_LOG             JSON-lines file to record into (nothing is recorded without it)
  STANDIN_FILE_MAP        JSON {path in the image: path here} for files read from the app's image
                          (the `--config` file)
  STANDIN_PYTHON          the Python that `bin/vllm` runs (default: python3 on PATH)
  STANDIN_READY_DELAY     seconds after start before /health answers 200 (before: 503); it then
                          prints "standin: the server is ready", as SGLang logs that it is
  STANDIN_LISTEN_DELAY    seconds after start before the port is even opened
  STANDIN_CRASH_AFTER     exit with STANDIN_CRASH_CODE (default 3) this many seconds after start
  STANDIN_IGNORE_SIGTERM  when "1", SIGTERM is ignored, by the workers too (to test the kill)
  STANDIN_WORKERS         child processes to start, as SGLang starts its schedulers; they share
                          the server's process group and output, and live until killed
  STANDIN_COMPILE_EXIT    exit code of `python -m sglang.compile_deep_gemm` (default 0)

Chat completions:

  STANDIN_CHAT_STATUS     HTTP status of chat completions (default 200), body says why
  STANDIN_CHAT_503S       answer the first N chat completions with 503, as Modal does with no
                          replica
  STANDIN_ERROR_EVERY     answer every Nth chat completion received (N, 2N, ...) with 500
  STANDIN_CHAT_DELAY      seconds a chat completion waits before answering at all
  STANDIN_REASONING       reasoning text streamed before the content (default: none)
  STANDIN_CONTENT         content text streamed (default: "Hello from the stand-in.")
  STANDIN_OUTPUT_TOKENS   tokens (streamed chunks) in an answer; default: one per word of the
                          reasoning and the content. Beyond those words, the content's repeat.
  STANDIN_TTFT            seconds from the request to its first token (default 0)
  STANDIN_ITL             seconds between two tokens (default 0)
  STANDIN_CHUNK_DELAY     the older name of STANDIN_ITL, used when STANDIN_ITL is not set

  Token i of an answer is due at start + TTFT + i * ITL, each write waiting for its own
  deadline so that lateness does not add up; a whole (not streamed) answer comes when its last
  token is due. A request's `max_tokens` (or `max_completion_tokens`) cuts the answer short,
  with finish_reason "length"; with `ignore_eos` it has exactly that many tokens. Answers carry
  `usage` (prompt tokens: words in the messages' text), streams only with
  `stream_options: {"include_usage": true}`, in a last chunk without choices before [DONE].

Memory:

  STANDIN_RELEASE_STATUS, STANDIN_RESUME_STATUS
                          HTTP status of SGLang's /release_memory_occupation and
                          /resume_memory_occupation, and of vLLM's /wake_up for the second
                          (default 200). While memory is released,
                          /health and chat answer 503.
  VLLM_SERVER_DEV_MODE    when "1", vLLM's /sleep, /wake_up and /is_sleeping exist (as in vLLM);
                          they work only with --enable-sleep-mode. While asleep /health answers
                          200 and chat 503.
  VLLM_API_KEY            vLLM's API key when --api-key is not given

Both read --port (SGLang's default 30000, vLLM's 8000) and --api-key: with a key, /v1/* routes
answer 401 unless the request has `Authorization: Bearer KEY`. They always bind 127.0.0.1, and
serve from one asyncio event loop (uvloop's when installed), keeping connections alive and
streaming chunked, as uvicorn does under both engines.

Recorded events (each a JSON object with an `event` field):

  launch_server  engine ("sglang" or "vllm"), command (as started: "python -m
                 sglang.launch_server", "sglang serve" or "vllm serve"),
                 argv, executable, pid, pgid, at (start time)
  workers        pids of the workers
  ready          at: the wall-clock time from which /health answers 200
  health         at and status of each /health answer
  request        method, path (with the query), headers and body of every request
  chat           each chat completion: number (1, 2, ... as received), status; when answered
                 200 also id (as in the answer), stream, prompt_tokens, completion_tokens,
                 accepted_at (its connection accepted), parsed_at (the request read),
                 connection_request (1 for a connection's first request, 2, ...), started_at,
                 first_token_at, last_token_at (wall-clock times of the writes), finished_at,
                 and disconnected/tokens_sent if the client went away
  sleep, wake_up vLLM's: level, or tags, and at
  compile_deep_gemm  argv
"""
