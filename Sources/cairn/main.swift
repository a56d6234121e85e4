import CairnHost
print("cairn")
