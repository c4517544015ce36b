"""``ChatLlamaCpp``: a LangChain chat model over an in-process ``llama_cpp.Llama`` (GGUF), with token streaming.

Hand-written: the maintained ``ChatLlamaCpp`` is in langchain-community (not
installed, a heavy extra dependency). This module imports langchain_core at
import time, so :func:`assistant.llm.llamacpp.chat_model` imports it only when
a llamacpp backend is actually built.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.errors import BackendError
from assistant.llm.llamacpp import DEFAULT_N_CTX
from assistant.llm.messages import to_chat_dicts
from assistant.llm.options import DEFAULT_MAX_TOKENS, DEFAULT_N_THREADS

__all__ = ["ChatLlamaCpp", "context_error"]

#: Generation keyword arguments passed through to ``create_chat_completion``.
_PASSED_THROUGH = {"temperature", "max_tokens", "top_p", "seed", "repeat_penalty"}


def context_error(exc: ValueError, n_ctx: int) -> BackendError | None:
    """Translate llama.cpp's 'exceed context window' ValueError into a user-facing BackendError."""
    if "context window" in str(exc):
        return BackendError(f"prompt too long for the model context (n_ctx={n_ctx}); set ADVISOR_LLM_N_CTX higher or ask a shorter question")
    return None


class ChatLlamaCpp(BaseChatModel):
    """LangChain chat model over an in-process ``llama_cpp.Llama`` (GGUF), with token streaming.

    ``client`` is the shared, per-process cached ``Llama``; ``lock`` serialises
    calls to it (llama.cpp contexts are not thread-safe). Temperature 0 by
    default: answers should be reproducible restatements of the passages.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = DEFAULT_N_CTX
    n_threads: int = DEFAULT_N_THREADS
    temperature: float = 0.0
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    client: Any = Field(default=None, exclude=True, repr=False)
    lock: Any = Field(default=None, exclude=True, repr=False)

    @property
    def _llm_type(self) -> str:
        return "llamacpp-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if stop:
            params["stop"] = stop
        params.update({k: v for k, v in kwargs.items() if k in _PASSED_THROUGH})
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One blocking chat completion."""
        try:
            with self.lock:
                response = self.client.create_chat_completion(messages=to_chat_dicts(messages), **self._params(stop, kwargs))
        except ValueError as exc:
            raise (context_error(exc, self.n_ctx) or exc) from exc
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            response_metadata={"finish_reason": choice.get("finish_reason"), "model_name": Path(self.model_path).name},
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Yield one chunk per generated token piece, then a final chunk carrying the finish reason."""
        finish_reason = None
        try:
            with self.lock:
                stream = self.client.create_chat_completion(messages=to_chat_dicts(messages), stream=True, **self._params(stop, kwargs))
                for part in stream:
                    choice = part["choices"][0]
                    finish_reason = choice.get("finish_reason") or finish_reason
                    text = (choice.get("delta") or {}).get("content") or ""
                    if not text:
                        continue
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager is not None:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
        except ValueError as exc:
            raise (context_error(exc, self.n_ctx) or exc) from exc
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata={"finish_reason": finish_reason, "model_name": Path(self.model_path).name},
                chunk_position="last",  # LangChain 1.x: marks the end of the stream
            )
        )
