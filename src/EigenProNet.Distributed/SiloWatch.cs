using Orleans.Runtime;

namespace EigenProNet.Distributed;

/// <summary>
/// The cluster's active silos as a coordinator sees them, asked for once a second while someone waits on a silo. A
/// client hears of the death of a silo other than its gateways only from the request timeout (minutes): a run whose
/// shard's silo died would hang that long. <see cref="GrainCenterShard"/> races each request against
/// <see cref="WhenLeft"/> of the silo that holds the shard.
/// </summary>
internal sealed class SiloWatch(IClusterClient client, TimeSpan period) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskCompletionSource> _left = [];   // silo (Grain.RuntimeIdentity) → done when it is no longer active
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>A task that completes when <paramref name="silo"/> (a grain's RuntimeIdentity) is no longer an active member.</summary>
    public Task WhenLeft(string silo)
    {
        lock (_gate)
        {
            if (!_left.TryGetValue(silo, out var left))
                _left[silo] = left = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _loop ??= Task.Run(() => Poll(_stop.Token));
            return left.Task;
        }
    }

    private async Task Poll(CancellationToken ct)
    {
        var management = client.GetGrain<IManagementGrain>(0);
        while (!ct.IsCancellationRequested)
        {
            try { await Task.Delay(period, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            HashSet<string> active;
            // A failed poll proves nothing (the gateway may be the one that left: then the request itself fails), and
            // whatever it threw must not end the watch.
            try { active = [.. (await management.GetHosts(onlyActive: true).ConfigureAwait(false)).Keys.Select(s => s.ToString())]; }
            catch (Exception) when (!ct.IsCancellationRequested) { continue; }
            catch (Exception) { return; }
            lock (_gate)
                foreach (var (silo, left) in _left.Where(p => !active.Contains(p.Key)).ToArray())
                {
                    left.TrySetResult();
                    _left.Remove(silo);
                }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            if (_stop.IsCancellationRequested) return;
            _stop.Cancel();
            loop = _loop;
        }
        if (loop is not null) await loop.ConfigureAwait(false);
    }
}
