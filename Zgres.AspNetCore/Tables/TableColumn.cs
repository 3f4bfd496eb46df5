namespace Zgres.AspNetCore.Tables;

internal readonly record struct TableColumn(short Number, string Name);
