"""Collections (telecobrança): receivables from the ERP and the collection tickets Ciclo opens for them."""
