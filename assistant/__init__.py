"""img-advisor: an offline, grounded advising assistant for IMGs applying to US residency.

The package follows the data flow: corpus -> chunking -> index -> retrieval ->
answer / draft -> cli / ui / evals. Importing it is cheap: heavy libraries
(torch, chromadb, langchain, gradio) are imported by the stage that needs them.
"""

from assistant.config import offline_env

offline_env()

__version__ = "0.1.0"
