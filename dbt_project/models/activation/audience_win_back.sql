{#-
    Win-back: customers who used to buy and are slipping away, while a campaign can still
    reach them. In: RFM "At risk" or "Can't lose them", or lifecycle dormant (last order 91
    to 365 days ago), with a churn probability of at least var `win_back_min_churn`.
-#}
with

customers as (

    select * from {{ ref('customer_360') }}

),

final as (

    select {{ audience_columns('win_back') }}
    from customers
    where
        (rfm_segment in ('At risk', 'Can''t lose them') or lifecycle_stage = 'dormant')
        and p_churn >= {{ var('win_back_min_churn') }}

)

select * from final
