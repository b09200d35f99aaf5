"""The llama.cpp engine (CPU through llama-cpp-python)."""
