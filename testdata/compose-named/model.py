import numpy as np

def f():
    return 1
