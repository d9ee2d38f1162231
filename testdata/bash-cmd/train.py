from model import f
print(f())
