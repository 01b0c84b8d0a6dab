"""CCTV siting (การวางตำแหน่งกล้องวงจรปิด): maximal covering location of cameras over weighted risk."""
