namespace Zgres.AspNetCore.Filtering;

/// <summary>The operators of a filter condition.</summary>
internal enum FilterOperator { Eq, Neq, Lt, Lte, Gt, Gte, In, Is }
