"""``gpuwise bench``: what the local device really does (matmul rates, memory and PCIe bandwidth,
a small training step), beside the catalogue's figures for the card. Needs torch."""
