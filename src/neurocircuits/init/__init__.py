"""Weight initialisers: kaiming/xavier bases, emergence-promoting init, structured inits."""
