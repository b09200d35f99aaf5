"""How a tuned model compares with its base on the validation split: loss, perplexity, answers.

Both are measured on one model object, the base being the tuned model with its adapter
switched off, so the comparison sees the same weights, tokens and precision.
"""

from __future__ import annotations

import math

import torch

from openmaas.hub.tokenizer import EncodedChat, ModelTokenizer
from openmaas.tuning.formats import TrainingExample

SAMPLES = 3
SAMPLE_TOKENS = 64


@torch.no_grad()
def mean_loss(model, examples: list[EncodedChat]) -> float | None:
    """Token-weighted cross-entropy over the answers' tokens."""
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for example in examples:
        ids = torch.tensor([example.tokens], device=device)
        labels = ids.clone()
        labels[0, torch.tensor(example.trained, device=device) == 0] = -100
        n = int((labels[0, 1:] != -100).sum())  # the first token is never predicted
        if n == 0:
            continue
        total += float(model(input_ids=ids, labels=labels).loss) * n
        count += n
    return total / count if count else None


@torch.no_grad()
def answer(model, tokenizer: ModelTokenizer, messages: list[dict]) -> str:
    prompt = tokenizer.tokenize(tokenizer.render_chat(messages, add_generation_prompt=True), add_bos=True)
    device = next(model.parameters()).device
    output = model.generate(input_ids=torch.tensor([prompt], device=device), max_new_tokens=SAMPLE_TOKENS,
                            do_sample=False, eos_token_id=tokenizer.eos_id, pad_token_id=tokenizer.eos_id)
    return tokenizer.detokenize([t for t in output[0, len(prompt):].tolist() if t != tokenizer.eos_id]).strip()


def _side(loss: float | None) -> dict:
    return {"loss": loss, "perplexity": None if loss is None else math.exp(min(loss, 50.0))}


def evaluate(peft_model, tokenizer: ModelTokenizer, valid: list[TrainingExample],
             encoded: list[EncodedChat]) -> dict:
    """`peft_model` carries the trained adapter; `valid` and `encoded` are the same examples."""
    peft_model.eval()
    tuned = mean_loss(peft_model, encoded)
    with peft_model.disable_adapter():
        base = mean_loss(peft_model, encoded)
    samples = []
    for example in valid[:SAMPLES]:
        last = max(i for i, m in enumerate(example.messages) if m["role"] == "assistant")
        prompt = [{"role": m["role"], "content": m["content"]} for m in example.messages[:last]]
        tuned_answer = answer(peft_model, tokenizer, prompt)
        with peft_model.disable_adapter():
            base_answer = answer(peft_model, tokenizer, prompt)
        samples.append({"prompt": prompt, "reference": example.messages[last]["content"],
                        "base": base_answer, "tuned": tuned_answer})
    return {"validation": {"examples": len(encoded), "base": _side(base), "tuned": _side(tuned)},
            "samples": samples}
