"""The customization loop: training data, fine-tuning jobs, export, evaluation."""
