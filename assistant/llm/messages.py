"""LangChain messages as plain text and as the OpenAI-style dicts llama.cpp takes.

Shared by the llama.cpp chat model (which converts prompts) and the chat helpers
(which return reply text), so neither has to import the other.
"""

from __future__ import annotations

from typing import Any

#: LangChain message type -> OpenAI chat role.
ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool", "function": "function"}


def text_of(content: Any) -> str:
    """Plain text of a message's content (a string or a list of content blocks)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def to_chat_dicts(messages: list) -> list[dict]:
    """LangChain messages -> the OpenAI-style dicts ``create_chat_completion`` takes."""
    out = []
    for message in messages:
        role = getattr(message, "role", None) if message.type == "chat" else ROLES.get(message.type, "user")
        out.append({"role": role or "user", "content": text_of(message.content)})
    return out
