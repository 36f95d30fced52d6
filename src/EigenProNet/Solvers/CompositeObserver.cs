using EigenProNet.Models;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>
/// Several observers of one run — checkpoints and the dynamics recorder, say — called in the order given, each
/// callback reaching every observer before the solver goes on. Null entries are skipped.
/// </summary>
public sealed class CompositeObserver : ITrainingObserver
{
    private readonly ITrainingObserver[] _observers;

    /// <summary>Combines <paramref name="observers"/>.</summary>
    public CompositeObserver(params ITrainingObserver?[] observers)
    {
        ArgumentNullException.ThrowIfNull(observers);
        _observers = [.. observers.OfType<ITrainingObserver>()];
    }

    /// <summary>The observers, in call order.</summary>
    public IReadOnlyList<ITrainingObserver> Observers => _observers;

    /// <inheritdoc/>
    public void OnPreconditioner(NystromPreconditioner preconditioner)
    {
        foreach (var o in _observers) o.OnPreconditioner(preconditioner);
    }

    /// <inheritdoc/>
    public void OnStart(KernelModel model)
    {
        foreach (var o in _observers) o.OnStart(model);
    }

    /// <inheritdoc/>
    public void OnBatch(int epoch, int batch, KernelModel model)
    {
        foreach (var o in _observers) o.OnBatch(epoch, batch, model);
    }

    /// <inheritdoc/>
    public void OnEpoch(EpochReport report, KernelModel model)
    {
        foreach (var o in _observers) o.OnEpoch(report, model);
    }
}
