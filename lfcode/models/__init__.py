"""The models already on this machine: discovery (``lfcode models``) and model references.

- :mod:`.header`: the GGUF header (metadata, tensor list) read without the weights;
- :mod:`.facts`: architecture, size, quantization, context, FIM family, chat template, roles;
- :mod:`.stores`: the stores of Ollama, LM Studio, the Hugging Face cache and llama.cpp, and
  folders the user names;
- :mod:`.references`: :func:`~lfcode.models.references.resolve_model`, what the ``model``
  setting may name (``embedded``, ``ollama:NAME[:TAG]``, ``lmstudio:...``, ``hf:...``, a path);
- :mod:`.check`: the trial load of ``--check``;
- :mod:`.service` (:func:`~lfcode.models.service.list_models`) and :mod:`.report` (table, JSON).

Importing this package imports none of them; import the module you need.
"""
