using Microsoft.Extensions.Options;

namespace Zgres.AspNetCore.Operations;

/// <summary>Validates <see cref="OperationsOptions"/> at start: the ranges (source-generated) and every network.</summary>
[OptionsValidator]
internal sealed partial class OperationsOptionsValidator : IValidateOptions<OperationsOptions>;
