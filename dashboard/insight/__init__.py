"""What a trained model says and why: test-set evaluation (confusion matrix, scores,
mistakes, CNN against dense-only) and inference on new images (preprocessing, top-k,
feature maps, Grad-CAM, safe .keras loading). Imports `model`, `data`, `training`."""
