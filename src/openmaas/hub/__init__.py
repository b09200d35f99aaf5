"""The model hub: the registry of models, their GGUF cards and the built-in model."""
