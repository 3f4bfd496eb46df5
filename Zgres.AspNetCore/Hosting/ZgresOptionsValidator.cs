using Microsoft.Extensions.Options;

namespace Zgres.AspNetCore.Hosting;

/// <summary>Validates <see cref="ZgresOptions"/> and the objects inside it at start (source-generated).</summary>
[OptionsValidator]
internal sealed partial class ZgresOptionsValidator : IValidateOptions<ZgresOptions>;
