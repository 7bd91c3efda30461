"""`python -m service.emulators.vllm --port P --model NAME [...]`: serve until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse

from service.emulators.config import add_arguments
from service.emulators.server import serve, state_from_arguments
from service.emulators.vllm import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m service.emulators.vllm",
        description="Emulated vLLM OpenAI-compatible server.",
    )
    add_arguments(parser, default_port=8000, batching=True)
    parser.add_argument(
        "--model", default="Qwen/Qwen2.5-0.5B-Instruct", help="Default: %(default)r"
    )
    parser.add_argument(
        "--served-model-name",
        nargs="+",
        metavar="NAME",
        help="names clients use (vLLM's option); default: --model",
    )
    parser.add_argument(
        "--max-model-len", type=int, default=8192, metavar="N", help="Default: %(default)r"
    )
    parser.add_argument(
        "--error-format",
        choices=["flat", "nested"],
        default="flat",
        help="flat: vLLM <= 0.10.1 ErrorResponse; nested: later releases. Default: %(default)r",
    )
    parser.add_argument(
        "--enable-request-id-headers",
        action="store_true",
        help="echo X-Request-Id on responses, as vLLM's option does",
    )
    args = parser.parse_args(argv)
    state = state_from_arguments("vllm", args)
    app = create_app(
        state,
        model=args.model,
        served_model_names=args.served_model_name,
        max_model_len=args.max_model_len,
        nested_errors=args.error_format == "nested",
        request_id_headers=args.enable_request_id_headers,
    )
    serve(app, state, args)


if __name__ == "__main__":
    main()
