namespace Zgres.Client;

/// <summary>The methods the hub calls on its clients. The server's hub is typed with it, so a rename breaks the build.</summary>
public interface IChangeClient
{
    /// <summary>A row change for a group the connection is in.</summary>
    Task Change(ChangeEvent change);
}
